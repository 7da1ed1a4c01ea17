/** The console's pages of one customer and the overview, the routes the console tests walk (signed in). */
export const customerPages = (customerId: string): string[] => [
  '/console',
  `/console/customers/${customerId}`,
  `/console/customers/${customerId}/identity`,
  `/console/customers/${customerId}/privacy`,
];
