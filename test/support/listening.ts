import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

// The TCP ports a process listens on, read from Linux's /proc: the process's socket inodes, matched
// against the kernel's tables of sockets in the LISTEN state (st 0A), IPv4 and IPv6.

const LISTEN = '0A';

const listeningByInode = (): Map<string, { address: string; port: number }> => {
  const out = new Map<string, { address: string; port: number }>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== LISTEN) continue;
      const [address, port] = cols[1]!.split(':');
      out.set(cols[9]!, { address: address!, port: parseInt(port!, 16) });
    }
  }
  return out;
};

export const listeningPorts = (pid: number): { address: string; port: number }[] => {
  const listening = listeningByInode();
  const found: { address: string; port: number }[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    const socket = inode === undefined ? undefined : listening.get(inode);
    if (socket) found.push(socket);
  }
  return found;
};

/** Every process in the tree under `pid` (itself included), from /proc's parent links. */
export const processTree = (pid: number): number[] => {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
};

/** Every LISTEN socket on a port, whichever process holds it: its address as /proc writes it (hex). */
export const listenersOn = (port: number): string[] => {
  const found: string[] = [];
  for (const { address, port: p } of listeningByInode().values()) if (p === port) found.push(address);
  return found;
};

/** 127.0.0.1 as /proc/net/tcp writes it (little-endian hex) */
export const IPV4_LOOPBACK = '0100007F';
