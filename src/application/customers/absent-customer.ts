import { DomainError } from '../../domain/shared/errors.js';
import type { ErasureLedger } from '../ports/erasure-ledger.port.js';

/**
 * The answer for a customer id with nothing to show: CUSTOMER_ERASED (410) naming the erasure when
 * the ledger holds one that covered the id, else CUSTOMER_NOT_FOUND (404). Every route answers an
 * erased customer alike, as the access export does.
 */
export const absentCustomer = async (ledger: Pick<ErasureLedger, 'find'>, tenant: string, customerId: string, field = 'customerId'): Promise<DomainError> => {
  const receipt = await ledger.find(tenant, customerId);
  return receipt
    ? new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased (erasure ${receipt.erasureId})`, [field], {
        customerId,
        erasureId: receipt.erasureId,
      })
    : new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, [field]);
};
