"""Security mode: users, API keys, tokens, authentication and cluster-privilege authorisation (es-behaviour §1.2)."""

import base64
import binascii
import fnmatch
import secrets

from .errors import EsError

PASSWORD = 'changeme'
USERS = {
    'elastic': ['superuser'],
    'ml_admin': ['ml_admin'],
    'ml_viewer': ['ml_viewer'],
    'rollup_admin': ['rollup_admin'],
    'nobody': ['nobody'],
}
ROLES = {
    'superuser': ['all'],
    'ml_admin': ['manage_ml', 'monitor'],
    'ml_viewer': ['monitor_ml'],
    'rollup_admin': ['manage_rollup'],
    'nobody': [],
}
_SECURITY = 'cluster:admin/xpack/security/'

# Cluster privileges in the order they are listed in the "granted by" hint.
PRIVILEGES = (
    ('monitor_ml', lambda a: a.startswith('cluster:monitor/xpack/ml/')),
    ('manage_ml', lambda a: a.startswith(('cluster:admin/xpack/ml/', 'cluster:monitor/xpack/ml/'))),
    ('monitor_rollup', lambda a: a.startswith('cluster:monitor/xpack/rollup/')),
    ('manage_rollup', lambda a: a.startswith(('cluster:admin/xpack/rollup/', 'cluster:monitor/xpack/rollup/'))),
    ('manage_own_api_key', lambda a: a.startswith(_SECURITY + 'api_key/')),
    ('manage_api_key', lambda a: a.startswith(_SECURITY + 'api_key/')),
    ('manage_token', lambda a: a.startswith(_SECURITY + 'token/')),
    ('monitor', lambda a: a.startswith('cluster:monitor/')),
    ('manage', lambda a: a.startswith(('cluster:admin/', 'cluster:monitor/')) and not a.startswith(_SECURITY)),
    ('manage_security', lambda a: a.startswith(_SECURITY)),
    ('all', lambda a: a.startswith('cluster:')),
)
_PRIV = dict(PRIVILEGES)
INDEX_HINT = {'indices:admin/create': 'create_index,manage,all', 'indices:admin/delete': 'delete_index,manage,all',
              'indices:admin/get': 'view_index_metadata,manage,all'}
# Every user may ask about itself: authenticate, and has_privileges without another username (docs
# security-api-has-privileges "All users can use this API, but only to determine their own privileges"; an API key
# asks about itself, its privileges being the intersection of its role descriptors and its owner's).
ALWAYS_ALLOWED = {'cluster:admin/xpack/security/user/authenticate', 'cluster:admin/xpack/security/user/has_privileges'}
# A named cluster privilege is held when a held privilege covers all of its actions (ClusterPrivilegeResolver and
# the privilege automata: manage covers manage_ml/manage_rollup and every monitor_*, monitor covers monitor_*).
IMPLIED = {
    'all': None,   # everything
    'manage': {'manage', 'manage_ml', 'manage_rollup', 'monitor', 'monitor_ml', 'monitor_rollup'},
    'monitor': {'monitor', 'monitor_ml', 'monitor_rollup'},
    'manage_ml': {'manage_ml', 'monitor_ml'},
    'manage_rollup': {'manage_rollup', 'monitor_rollup'},
}
# Index privilege -> the index actions it grants (IndexPrivilege.java: delete_index = indices:admin/delete,
# view_index_metadata = indices:admin/get, mappings/get, ...; manage and all cover them). Enough for the modules.
INDEX_PRIVILEGE_ACTIONS = {
    'delete_index': ('indices:admin/delete',),
    'create_index': ('indices:admin/create',),
    'view_index_metadata': ('indices:admin/get', 'indices:admin/mappings/get', 'indices:data/read/xpack/rollup/get/index/caps'),
}
INDEX_WIDE = ('all', 'manage')
# The index privileges has_privileges knows (IndexPrivilege.VALUES, 6.8-9.x; a subset is enough here).
INDEX_PRIVILEGES = ('all', 'manage', 'delete_index', 'create_index', 'view_index_metadata', 'read', 'write', 'index',
                    'delete', 'monitor')


def _granted(privs, action):
    if 'all' in privs:
        return True
    if action.startswith('indices:'):
        return False
    return any(_PRIV.get(p, lambda a: False)(action) for p in privs)


def _holds_name(privs, name):
    return any(held == name or held == 'all' or name in IMPLIED.get(held, ()) for held in privs)


class Principal:
    def __init__(self, username, roles, kind, api_key=None, key_privs=None, token=None, key_indices=None):
        self.username = username
        self.roles = roles
        self.kind = kind            # realm | api_key | token
        self.api_key = api_key
        self.key_privs = key_privs  # None or list of cluster privileges limiting an API key
        self.token = token
        self.key_indices = key_indices or []  # an API key's role_descriptors[*].indices: [{names, privileges}]

    @property
    def privileges(self):
        privs = set()
        for role in self.roles:
            privs.update(ROLES.get(role, []))
        return privs

    def allowed(self, action, index=None):
        if action in ALWAYS_ALLOWED:
            return True
        if not _granted(self.privileges, action):
            return False
        if self.key_privs is None or _granted(set(self.key_privs), action):
            return True
        # An API key with role descriptors: its own index privileges limit the owner's (intersection).
        return action.startswith('indices:') and index is not None and any(
            self._key_index_grants(index, privilege) for privilege in INDEX_PRIVILEGE_ACTIONS
            if action in INDEX_PRIVILEGE_ACTIONS[privilege])

    def _key_index_grants(self, index, privilege):
        for entry in self.key_indices:
            names = entry.get('names') or []
            names = [names] if isinstance(names, str) else names
            held = set(entry.get('privileges') or [])
            if any(fnmatch.fnmatchcase(index, name) for name in names) and (privilege in held or held & set(INDEX_WIDE)):
                return True
        return False

    def holds_cluster(self, privilege):
        """has_privileges for one cluster entry: an action name (``cluster:...``) or a privilege name."""
        if privilege.startswith('cluster:'):
            # The role's permission decides, not the "ask about yourself" exception (RBACEngine.checkPrivileges).
            return _granted(self.privileges, privilege) and (self.key_privs is None or _granted(set(self.key_privs), privilege))
        if not _holds_name(self.privileges, privilege):
            return False
        return self.key_privs is None or _holds_name(set(self.key_privs), privilege)

    def holds_index(self, index, privilege):
        """Index privileges: the emulator's roles carry none, so only ``all`` (superuser) holds any, limited for an
        API key by its descriptors' ``indices``."""
        if 'all' not in self.privileges:
            return False
        if self.key_privs is None or 'all' in self.key_privs:
            return True
        return self._key_index_grants(index, privilege)


class Security:
    def __init__(self, cluster, personality):
        self.cluster = cluster
        self.pers = personality

    def _unauthenticated(self, reason):
        return EsError(401, 'security_exception', reason, headers={'WWW-Authenticate': self.pers.www_authenticate})

    def authenticate(self, header, uri):
        if not header:
            return self._fail_missing(uri)
        scheme, _sep, value = header.partition(' ')
        scheme = scheme.lower()
        value = value.strip()
        if scheme == 'basic':
            try:
                user, _sep, password = base64.b64decode(value, validate=True).decode('utf-8').partition(':')
            except (binascii.Error, UnicodeDecodeError):
                raise self._unauthenticated('unable to authenticate with provided credentials and anonymous access is not allowed '
                                            'for this request') from None
            if user not in USERS or password != PASSWORD:
                raise self._unauthenticated('unable to authenticate user [%s] for REST request [%s]' % (user, uri))
            return Principal(user, USERS[user], 'realm')
        if scheme == 'apikey':
            try:
                key_id, _sep, key = base64.b64decode(value, validate=True).decode('utf-8').partition(':')
            except (binascii.Error, UnicodeDecodeError):
                key_id, key = None, None
            entry = self.cluster.api_keys.get(key_id)
            if entry is None or entry['key'] != key or entry['invalidated'] or (entry['expiration'] and entry['expiration'] < self.cluster.clock.time() * 1000):
                raise self._unauthenticated('unable to authenticate with provided credentials and anonymous access is not allowed '
                                            'for this request')
            return Principal(entry['owner'], USERS[entry['owner']], 'api_key', api_key=entry, key_privs=entry['privs'],
                             key_indices=entry.get('indices'))
        if scheme == 'bearer':
            entry = self.cluster.tokens.get(value)
            if entry is None or entry['expires'] < self.cluster.clock.time():
                raise self._unauthenticated('unable to authenticate with provided credentials and anonymous access is not allowed '
                                            'for this request')
            return Principal(entry['user'], USERS[entry['user']], 'token', token=value)
        raise self._unauthenticated('unable to authenticate with provided credentials and anonymous access is not allowed for this request')

    def _fail_missing(self, uri):
        raise self._unauthenticated('missing authentication credentials for REST request [%s]' % uri)

    def authorize(self, principal, action, index=None):
        if principal.allowed(action, index):
            return
        if principal.kind == 'api_key':
            who = 'API key id [%s] of user [%s]' % (principal.api_key['id'], principal.username)
        else:
            who = 'user [%s]' % principal.username
        message = 'action [%s] is unauthorized for %s' % (action, who)
        if principal.kind != 'api_key':
            message += ' with roles [%s]' % ','.join(principal.roles)
        if index is not None:
            message += ' on indices [%s]' % index
            if self.pers.privilege_hint:
                message += ', this action is granted by the index privileges [%s]' % INDEX_HINT.get(action, 'all')
        elif self.pers.privilege_hint:
            hint = [name for name, pred in PRIVILEGES if pred(action)]
            if hint:
                message += ', this action is granted by the cluster privileges [%s]' % ','.join(hint)
        raise EsError(403, 'security_exception', message)

    # ---- APIs ----
    def create_api_key(self, principal, body):
        body = body or {}
        name = body.get('name')
        if not name:
            raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: api key name is required;')
        key_id = secrets.token_urlsafe(15)[:20]
        key = secrets.token_urlsafe(16)[:22]
        privs = None
        indices = []
        descriptors = body.get('role_descriptors') or {}
        if descriptors:
            privs = []
            for desc in descriptors.values():
                privs.extend(desc.get('cluster', []))
                indices.extend(desc.get('indices', []))
        expiration = None
        if body.get('expiration'):
            from .state import parse_time_value  # pylint: disable=import-outside-toplevel
            expiration = int((self.cluster.clock.time() + parse_time_value(body['expiration'], 'expiration')) * 1000)
        self.cluster.api_keys[key_id] = {'id': key_id, 'name': name, 'key': key, 'owner': principal.username,
                                         'privs': privs, 'indices': indices, 'expiration': expiration,
                                         'invalidated': False}
        response = {'id': key_id, 'name': name}
        if expiration:
            response['expiration'] = expiration
        response['api_key'] = key
        if self.pers.at_least(7, 16):
            response['encoded'] = base64.b64encode(('%s:%s' % (key_id, key)).encode()).decode()
        return response

    def create_token(self, principal, body):
        body = body or {}
        grant = body.get('grant_type')
        if grant == 'password':
            user = body.get('username')
            if user not in USERS or body.get('password') != PASSWORD:
                return 400, {'error': 'invalid_grant', 'error_description': 'failed to authenticate user, invalid credentials'}
        elif grant == 'client_credentials':
            user = principal.username
        else:
            raise EsError(400, 'action_request_validation_exception', 'Validation Failed: 1: grant_type is missing;')
        token = base64.b64encode(secrets.token_bytes(48)).decode()
        self.cluster.tokens[token] = {'user': user, 'expires': self.cluster.clock.time() + 1200}
        response = {'access_token': token, 'type': 'Bearer', 'expires_in': 1200, 'scope': 'full'}
        if grant == 'password':
            response['refresh_token'] = secrets.token_urlsafe(32)
        if self.pers.at_least(7, 11):
            response['authentication'] = self.authenticate_view(Principal(user, USERS[user], 'realm'))
        return 200, response

    def has_privileges(self, principal, body):
        """POST/GET _security/user/_has_privileges (6.x: _xpack/security/user/_has_privileges).

        Response shape, the same 6.x-9.x: ``username``, ``has_all_requested``, ``cluster`` {name: bool}, ``index``
        {index: {privilege: bool}}, ``application`` {} [R ES x-pack/plugin/security/.../rest/action/user/
        RestHasPrivilegesAction.java (6.x, 7.x, 8.x/9.x main) HasPrivilegesRestResponseBuilder; docs
        https://www.elastic.co/guide/en/elasticsearch/reference/6.5/security-api-has-privileges.html]. Cluster entries
        may be privilege names or cluster action names; an unknown name is a 400 from ClusterPrivilegeResolver.
        """
        body = body or {}
        if not isinstance(body, dict) or not any(body.get(key) for key in ('cluster', 'index', 'application')):
            raise EsError(400, 'action_request_validation_exception',
                          'Validation Failed: 1: clusterPrivileges, indexPrivileges and applicationPrivileges cannot '
                          'all be empty;')
        cluster = {}
        for name in body.get('cluster') or []:
            if not name.startswith('cluster:') and name not in _PRIV:
                raise EsError(400, 'illegal_argument_exception',
                              'unknown cluster privilege [%s]. a privilege must be either one of the predefined cluster '
                              'privilege names [%s] or a pattern over one of the available cluster actions'
                              % (name, ','.join(sorted(_PRIV))))
            cluster[name] = principal.holds_cluster(name)
        index = {}
        for entry in body.get('index') or []:
            for privilege in entry.get('privileges') or []:
                if privilege not in INDEX_PRIVILEGES and not privilege.startswith('indices:'):
                    raise EsError(400, 'illegal_argument_exception', 'unknown index privilege [%s]. a privilege must be '
                                  'either one of the predefined fixed indices privileges [%s] or a pattern over one of '
                                  'the available index actions' % (privilege, ','.join(INDEX_PRIVILEGES)))
            for name in entry.get('names') or []:
                index.setdefault(name, {}).update({p: principal.holds_index(name, p) for p in entry.get('privileges') or []})
        complete = all(cluster.values()) and all(v for privs in index.values() for v in privs.values())
        return {'username': principal.username, 'has_all_requested': complete, 'cluster': cluster, 'index': index,
                'application': {}}

    @staticmethod
    def datafeed_authorization(principal):
        """What a datafeed records about who last put it (ES API spec ml/_types/Authorization.ts DatafeedAuthorization;
        docs ml-get-datafeed "authorization"): the API key's id and name, otherwise the user's roles."""
        if principal.kind == 'api_key':
            return {'api_key': {'id': principal.api_key['id'], 'name': principal.api_key['name']}}
        return {'roles': sorted(principal.roles)}

    def authenticate_view(self, principal):
        realm = {'realm': {'name': 'reserved' if principal.username == 'elastic' else 'default_native',
                           'type': 'reserved' if principal.username == 'elastic' else 'native'}}
        view = {'username': principal.username, 'roles': list(principal.roles), 'full_name': None, 'email': None,
                'metadata': {'_reserved': True} if principal.username == 'elastic' else {}, 'enabled': True,
                'authentication_realm': realm['realm'], 'lookup_realm': realm['realm'],
                'authentication_type': principal.kind}
        if principal.kind == 'api_key':
            view['authentication_realm'] = {'name': '_es_api_key', 'type': '_es_api_key'}
            view['lookup_realm'] = {'name': '_es_api_key', 'type': '_es_api_key'}
            view['api_key'] = {'id': principal.api_key['id'], 'name': principal.api_key['name']}
        return view
