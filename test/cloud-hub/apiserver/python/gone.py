"""410 Gone: a watch from a resourceVersion older than the server's history ends with an ERROR
event that the client raises as ApiException(410); listing again and watching from the new
resourceVersion recovers, as a client must."""
from kubernetes import watch
from kubernetes.client.rest import ApiException

from common import config_map, core, done, namespace

api = core()
ns = namespace()
first_rv = api.create_namespaced_config_map(ns, config_map('old')).metadata.resource_version
for i in range(12):
    api.patch_namespaced_config_map('old', ns, [{'op': 'replace', 'path': '/data/k', 'value': str(i)}])

result = {'firstRv': first_rv}
try:
    for event in watch.Watch().stream(api.list_namespaced_config_map, ns, resource_version=first_rv, timeout_seconds=10):
        result['unexpected'] = event['type']
        break
except ApiException as err:
    result['status'] = err.status
    result['reason'] = err.reason

# Recover: list, then watch from the list's resourceVersion.
rv = api.list_namespaced_config_map(ns).metadata.resource_version
api.create_namespaced_config_map(ns, config_map('after'))
for event in watch.Watch().stream(api.list_namespaced_config_map, ns, resource_version=rv, timeout_seconds=10):
    result['recovered'] = [event['type'], event['object'].metadata.name]
    break
done(result)
