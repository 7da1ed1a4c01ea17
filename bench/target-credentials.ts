// The credentials of the bench's HTTP target (bench/http-target.ts), for the loads that call it.
export const WRITE_KEY = 'bench-write-key-0123456789';
/** a seed sent with it (c360 seed --url --admin-token) keeps each call's own source */
export const ADMIN_TOKEN = 'bench-admin-token-0123456789abcdef';
