"""List, then watch from the list's resourceVersion with bookmarks allowed (the client sends
watch=True and allowWatchBookmarks=True), while another client creates, patches and deletes."""
import threading

from kubernetes import watch

from common import config_map, core, done, namespace

api = core()
ns = namespace()
api.create_namespaced_config_map(ns, config_map('before'))
listed = api.list_namespaced_config_map(ns)
list_rv = listed.metadata.resource_version


def writer():
    other = core()
    other.create_namespaced_config_map(ns, config_map('during'))
    other.patch_namespaced_config_map('during', ns, [{'op': 'add', 'path': '/data/more', 'value': '1'}])
    other.delete_namespaced_config_map('during', ns)


events = []
bookmarks = []
w = watch.Watch()
started = False
for event in w.stream(api.list_namespaced_config_map, ns, resource_version=list_rv, allow_watch_bookmarks=True, timeout_seconds=30):
    if not started:
        started = True
    if event['type'] == 'BOOKMARK':
        bookmarks.append(event['raw_object']['metadata']['resourceVersion'])
        if len(events) == 0 and len(bookmarks) == 1:
            threading.Thread(target=writer).start()
        if len(events) >= 3:
            w.stop()
        continue
    obj = event['object']
    events.append([event['type'], obj.metadata.name, obj.metadata.resource_version, (obj.data or {}).get('more')])
done({'listed': [item.metadata.name for item in listed.items], 'listRv': list_rv, 'events': events, 'bookmarks': bookmarks, 'watchRv': w.resource_version})
