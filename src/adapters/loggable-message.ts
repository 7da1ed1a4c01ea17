/**
 * An error's message as a log line may carry it (logs carry ids and codes, never values): quoted
 * parts, e-mail addresses and runs of digits (phone numbers, card numbers) a message may echo are
 * masked, and it is cut at 300 characters.
 */
export const loggableMessage = (message: string): string =>
  message
    .replace(/'[^']*'|"[^"]*"|`[^`]*`/g, '<quoted>')
    .replace(/[^\s@<>]+@[^\s@<>]+/g, '<email>')
    .replace(/\+?\d[\d ().-]{4,}\d/g, '<digits>')
    .slice(0, 300);
