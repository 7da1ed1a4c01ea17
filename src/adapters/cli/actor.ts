import { userInfo } from 'node:os';

/** `cli:<os user>`; a container without a passwd entry still gets a stable name. */
export const cliActor = (): string => {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return `cli:${process.env.USER ?? 'unknown'}`;
  }
};
