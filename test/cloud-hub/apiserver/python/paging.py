"""Paging: limit and _continue walk every object once; remaining_item_count counts down."""
from common import config_map, core, done, namespace

api = core()
ns = namespace()
for i in range(7):
    api.create_namespaced_config_map(ns, config_map(f'page-{i}'))
pages = []
token = None
while True:
    page = api.list_namespaced_config_map(ns, limit=3, _continue=token) if token else api.list_namespaced_config_map(ns, limit=3)
    pages.append({'names': [item.metadata.name for item in page.items], 'remaining': page.metadata.remaining_item_count, 'rv': page.metadata.resource_version})
    token = page.metadata._continue
    if not token:
        break
done({'pages': pages})
