import { DomainError } from '../../domain/shared/errors.js';
import type { ErasureLedger, ErasureReceipt } from '../ports/erasure-ledger.port.js';

/** CUSTOMER_ERASED (410) naming the erasure whose receipt covers the id. */
export const erasedCustomer = (receipt: Pick<ErasureReceipt, 'erasureId'>, customerId: string, field = 'customerId'): DomainError =>
  new DomainError('CUSTOMER_ERASED', `customer ${customerId} was erased (erasure ${receipt.erasureId})`, [field], {
    customerId,
    erasureId: receipt.erasureId,
  });

/** CUSTOMER_NOT_FOUND (404): no customer, erased or not, ever had this id. */
export const unknownCustomer = (customerId: string, field = 'customerId'): DomainError =>
  new DomainError('CUSTOMER_NOT_FOUND', `no customer ${customerId}`, [field]);

/**
 * The answer for a customer id with nothing to show: CUSTOMER_ERASED (410) naming the erasure when
 * the ledger holds one that covered the id, else CUSTOMER_NOT_FOUND (404). Every route answers an
 * erased customer alike, as the access export does.
 */
export const absentCustomer = async (ledger: Pick<ErasureLedger, 'find'>, tenant: string, customerId: string, field = 'customerId'): Promise<DomainError> => {
  const receipt = await ledger.find(tenant, customerId);
  return receipt ? erasedCustomer(receipt, customerId, field) : unknownCustomer(customerId, field);
};
