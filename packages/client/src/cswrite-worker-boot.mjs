// Entry of the write worker thread (csworker.ts): the sources are TypeScript, run through tsx as
// everywhere else in mfs-ts (bin/mfsmount-ts.js does the same for the main thread).
import { register } from 'tsx/esm/api';

register();
await import('./cswrite-worker.ts');
