"""CA, server and client certificates for --tls-dir (generated once, then reused)."""

import datetime
import ipaddress
import os
import ssl

FILES = ('ca.crt', 'ca.key', 'server.crt', 'server.key', 'client.crt', 'client.key')


def _write(path, data):
    with open(path, 'wb') as handle:
        handle.write(data)


def ensure_certs(directory):
    """Create ca.crt/server.crt/server.key/client.crt/client.key in `directory` unless they all exist."""
    os.makedirs(directory, exist_ok=True)
    if all(os.path.exists(os.path.join(directory, name)) for name in FILES):
        return
    # pylint: disable=import-outside-toplevel
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def name(common):
        return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'esops emulator'), x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def key_pem(key):
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (x509.CertificateBuilder().subject_name(name('esops emulator CA')).issuer_name(name('esops emulator CA'))
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))

    def leaf(common, usage, sans):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder().subject_name(name(common)).issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=825))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False))
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(ca_key, hashes.SHA256())
        return cert.public_bytes(serialization.Encoding.PEM), key_pem(key)

    server_crt, server_key = leaf('localhost', ExtendedKeyUsageOID.SERVER_AUTH,
                                  [x509.DNSName('localhost'), x509.IPAddress(ipaddress.ip_address('127.0.0.1'))])
    client_crt, client_key = leaf('esops-client', ExtendedKeyUsageOID.CLIENT_AUTH, [])
    _write(os.path.join(directory, 'ca.key'), key_pem(ca_key))
    _write(os.path.join(directory, 'server.crt'), server_crt)
    _write(os.path.join(directory, 'server.key'), server_key)
    _write(os.path.join(directory, 'client.crt'), client_crt)
    _write(os.path.join(directory, 'client.key'), client_key)
    _write(os.path.join(directory, 'ca.crt'), ca_cert.public_bytes(serialization.Encoding.PEM))


def server_context(directory):
    ensure_certs(directory)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, 'server.crt'), os.path.join(directory, 'server.key'))
    # Client certificates are optional (ES `xpack.security.http.ssl.client_authentication: optional`).
    context.load_verify_locations(os.path.join(directory, 'ca.crt'))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context
