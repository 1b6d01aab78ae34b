/**
 * The other WAL-archiving design the bench measures against firedrill's spool: an
 * archive_command that uploads each segment itself, in a process of its own —
 * `archive_command = 'node dist/bench/archive-push.js ENDPOINT BUCKET ROOT %p %f'`. Exits 0
 * only once the segment is stored, as archive_command must.
 */
import { createReadStream } from 'node:fs';
import { s3Options, S3Storage } from '../src/storage/s3.js';

const [endpoint, bucket, root, path, name] = process.argv.slice(2);
const location = new S3Storage('bench', s3Options.parse({ type: 's3', bucket, endpoint, pathStyle: true, checksums: 'when-required' }), root!);
await location.put(`pg-wal/${name}`, createReadStream(path!));
