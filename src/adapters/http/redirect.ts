import type { Context } from 'hono';

// A merged-away id answers 307 to its survivor, with a JSON body saying so: a client that does not
// follow redirects (or logs the answer) learns the survivor id without parsing the Location.

export type MergedRedirectBody = {
  readonly status: 'merged';
  /** the id asked for, when the path named one */
  readonly customerId?: string;
  readonly survivorId: string;
  readonly location: string;
  readonly message: string;
};

export const mergedRedirect = (c: Context, location: string, survivorId: string, customerId?: string): Response => {
  const body: MergedRedirectBody = {
    status: 'merged',
    ...(customerId === undefined ? {} : { customerId }),
    survivorId,
    location,
    message: `${customerId ?? 'the customer'} was merged into ${survivorId}: ask ${location}`,
  };
  return c.json(body, 307, { Location: location });
};
