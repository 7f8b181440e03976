/**
 * Rendezvous (highest random weight) hashing: every member scores every key, the highest score
 * owns it. When a member leaves, only its keys move (to their second-best member); when one
 * joins, it takes about 1/n of the keys from the others. Every server computes the same owner
 * from the same member list, with nothing to coordinate.
 */

/** A 53-bit string hash (two multiplicative 32-bit lanes), well mixed for short keys. */
export function hash53(s: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * The member that owns `key`: the one with the highest hash of `member + key` (ties, which
 * need equal hashes, go to the smaller name). Undefined when there are no members.
 *
 * @example
 * rendezvousOwner('web-1\0service:web-1', ['beacon-a', 'beacon-b', 'beacon-c']); // 'beacon-b'
 */
export function rendezvousOwner(key: string, members: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const m of members) {
    const score = hash53(`${m}\u0000${key}`);
    if (score > bestScore || (score === bestScore && best !== undefined && m < best)) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}
