"""Errors come back as ApiException with a Kubernetes Status body the client can parse."""
from kubernetes import client
from kubernetes.client.rest import ApiException

from common import config_map, core, done, namespace, status_of

api = core()
ns = namespace()
result = {}
try:
    api.read_namespaced_config_map('missing', ns)
except ApiException as err:
    result['notFound'] = status_of(err)
api.create_namespaced_config_map(ns, config_map('twice'))
try:
    api.create_namespaced_config_map(ns, config_map('twice'))
except ApiException as err:
    result['alreadyExists'] = status_of(err)
stale = api.read_namespaced_config_map('twice', ns)
api.patch_namespaced_config_map('twice', ns, [{'op': 'add', 'path': '/data/x', 'value': 'y'}])
try:
    api.replace_namespaced_config_map('twice', ns, stale)
except ApiException as err:
    result['conflict'] = status_of(err)
try:
    api.create_namespaced_config_map(ns, config_map('Not_A_Name'))
except ApiException as err:
    result['invalid'] = status_of(err)
# Deleting returns a Status the client deserializes.
deleted = api.delete_namespaced_config_map('twice', ns)
result['deleted'] = deleted.status
done(result)
