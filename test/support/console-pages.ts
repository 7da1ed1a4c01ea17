/** The console's pages of one customer, the overview and the review queue, the routes the console tests walk (signed in). */
export const customerPages = (customerId: string): string[] => [
  '/console',
  '/console/matches',
  `/console/customers/${customerId}`,
  `/console/customers/${customerId}/identity`,
  `/console/customers/${customerId}/privacy`,
];
