/**
 * Encodes one watch's events as kube-apiserver does: one JSON object per line,
 * `{"type":"ADDED","object":{...}}`, the object in the representation the client negotiated.
 * For Tables (kubectl get -w) each event carries a one-row Table, with the column definitions
 * on the first event only, as kube sends them.
 */
import type { JsonObject } from '../../protocol/index.js';
import { kubeTable, partialObjectMetadata, type Representation } from '../../protocol/kube/index.js';
import { API_VERSION, type ResourceInfo } from './resources.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export class WatchEventEncoder {
  private sentColumns = false;

  constructor(
    private readonly info: ResourceInfo,
    private readonly representation: Representation,
    private readonly now: () => number,
  ) {}

  /** ADDED, MODIFIED or DELETED of a served object. */
  change(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: JsonObject): string {
    const representation = this.representation;
    if (representation.as === 'object') return line(type, obj);
    if (representation.as === 'metadata') return line(type, partialObjectMetadata(obj, representation.apiVersion));
    const metadata = obj.metadata as JsonObject;
    const table = kubeTable(this.info.kind, [obj], {
      apiVersion: representation.apiVersion,
      includeObject: representation.includeObject,
      resourceVersion: String(metadata.resourceVersion),
      withColumns: !this.sentColumns,
      now: this.now(),
    });
    this.sentColumns = true;
    return line(type, table);
  }

  /**
   * "Every change up to `seq` has been sent to you": lets a client resume from a recent
   * resourceVersion even when nothing it selects has changed for a long time.
   */
  bookmark(seq: number, annotations?: Record<string, string>): string {
    const metadata: JsonObject = { resourceVersion: String(seq) };
    if (annotations) metadata.annotations = { ...annotations };
    const representation = this.representation;
    if (representation.as === 'table') {
      return line('BOOKMARK', { kind: 'Table', apiVersion: representation.apiVersion, metadata, columnDefinitions: [], rows: [] });
    }
    if (representation.as === 'metadata') return line('BOOKMARK', { kind: 'PartialObjectMetadata', apiVersion: representation.apiVersion, metadata });
    return line('BOOKMARK', { kind: this.info.kind, apiVersion: API_VERSION, metadata });
  }

  /** An ERROR event; `status` is a Kubernetes Status, whatever the representation. */
  error(status: JsonObject): string {
    return line('ERROR', status);
  }
}

function line(type: WatchEventType, object: JsonObject): string {
  return `${JSON.stringify({ type, object })}\n`;
}
