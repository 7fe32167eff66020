"""Create COUNT ML jobs with ids as long as Elasticsearch allows for their datafeeds, each with a started
datafeed, through the plain Elasticsearch APIs (one request per object; far quicker than a uri loop).

    python long_jobs.py URL PREFIX COUNT USER PASSWORD
"""
import base64
import json
import sys
import urllib.request


def call(url, auth, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header('Authorization', 'Basic ' + auth)
    if data is not None:
        req.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read() or b'null')


def main(url, prefix, count, user, password):
    auth = base64.b64encode(('%s:%s' % (user, password)).encode()).decode()
    version = call(url, auth, 'GET', '/')['version']['number']
    ml = '/_xpack/ml' if int(version.split('.')[0]) < 7 else '/_ml'
    index = prefix + 'source'
    mapping = {'properties': {'timestamp': {'type': 'date'}}}
    call(url, auth, 'PUT', '/' + index, {'mappings': {'_doc': mapping} if ml == '/_xpack/ml' else mapping})
    for number in range(int(count)):
        # 55 characters: datafeed-<job id> is then 64, the longest id Elasticsearch accepts.
        job_id = ('%s%03d-' % (prefix, number)).ljust(55, 'x')
        call(url, auth, 'PUT', '%s/anomaly_detectors/%s' % (ml, job_id),
             {'analysis_config': {'bucket_span': '15m', 'detectors': [{'function': 'count'}]},
              'data_description': {'time_field': 'timestamp'}})
        call(url, auth, 'PUT', '%s/datafeeds/datafeed-%s' % (ml, job_id), {'job_id': job_id, 'indices': [index]})
        call(url, auth, 'POST', '%s/anomaly_detectors/%s/_open' % (ml, job_id))
        call(url, auth, 'POST', '%s/datafeeds/datafeed-%s/_start' % (ml, job_id))


if __name__ == '__main__':
    main(*sys.argv[1:])
