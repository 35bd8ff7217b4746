"""Shared by the compatibility scripts: a CoreV1Api from the embedded API's kubeconfig
(argv[1]), a fresh namespace (argv[2]), and one JSON line of results on stdout."""
import json
import sys

from kubernetes import client, config


def api_client(content_type=None):
    """An ApiClient from the kubeconfig; content_type forces the body type of every request
    (the Debian client, 22.x, sends PATCH bodies as json-patch unless told otherwise)."""
    api = config.new_client_from_config(config_file=sys.argv[1])
    if content_type:
        api.set_default_header('Content-Type', content_type)
    return api


def core(content_type=None):
    return client.CoreV1Api(api_client(content_type))


def namespace():
    name = sys.argv[2]
    core().create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def config_map(name, data=None, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels), data=data or {'k': 'v'})


def status_of(err):
    """An ApiException's Status body, parsed."""
    return {'http': err.status, **json.loads(err.body)}


def done(result):
    print(json.dumps(result))
