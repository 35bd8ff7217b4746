"""The three patch types, and the status subresource."""
from kubernetes import client

from common import core, done, namespace

api = core()
ns = namespace()
pod = client.V1Pod(
    metadata=client.V1ObjectMeta(name='web', labels={'app': 'web', 'tier': 'front'}),
    spec=client.V1PodSpec(containers=[
        client.V1Container(name='main', image='registry.example/app:1', env=[client.V1EnvVar(name='A', value='1')]),
        client.V1Container(name='side', image='registry.example/side:1'),
    ]),
)
api.create_namespaced_pod(ns, pod)

# JSON patch (RFC 6902): what the client sends by default.
json_patched = api.patch_namespaced_pod('web', ns, [{'op': 'replace', 'path': '/metadata/labels/tier', 'value': 'back'}])
# Merge patch (RFC 7386): null deletes, lists are replaced whole.
merged = core('application/merge-patch+json').patch_namespaced_pod('web', ns, {'metadata': {'labels': {'tier': None, 'merged': 'yes'}}})
# Strategic merge: containers merge by name (a merge patch would replace the list, dropping 'side').
strategic = core('application/strategic-merge-patch+json').patch_namespaced_pod(
    'web', ns, {'spec': {'containers': [{'name': 'main', 'image': 'registry.example/app:2'}]}})
# Status: written through /status, ignored through the main resource.
status = core('application/merge-patch+json').patch_namespaced_pod_status('web', ns, {'status': {'phase': 'Running', 'podIP': '10.0.0.9'}})
ignored = core('application/merge-patch+json').patch_namespaced_pod('web', ns, {'status': {'phase': 'Failed'}})
read_status = api.read_namespaced_pod_status('web', ns)
# A failing JSON patch test operation.
try:
    api.patch_namespaced_pod('web', ns, [{'op': 'test', 'path': '/metadata/labels/app', 'value': 'nope'}])
    failed_test = None
except client.rest.ApiException as err:
    failed_test = err.status

done({
    'jsonLabels': json_patched.metadata.labels,
    'mergedLabels': merged.metadata.labels,
    'containers': [[c.name, c.image, [e.name for e in (c.env or [])]] for c in strategic.spec.containers],
    'statusPhase': status.status.phase,
    'podIP': status.status.pod_ip,
    'phaseAfterMainPatch': ignored.status.phase,
    'readStatusPhase': read_status.status.phase,
    'failedTest': failed_test,
})
