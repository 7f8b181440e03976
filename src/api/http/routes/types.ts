export type { CheckRecord, ServiceRecord, NodeRecord } from '../../../catalog/index.js';
export type { TxnOp as TxnOpLike } from '../../../store/index.js';
