/** One HTTPS request whose whole answer is read as text (the kubelet endpoint tests' client). */
import https from 'node:https';

export interface TextAnswer {
  status: number;
  body: string;
}

/** Sends `options` (no body) and resolves with the status and the body once the answer ends. */
export function httpsText(options: https.RequestOptions): Promise<TextAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(options, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
