/** dns-packet's decode with the sections and rcode typed as always present (they are, on decode). */
import dnsPacket from 'dns-packet';

export interface Decoded {
  id: number;
  rcode: string;
  flag_aa: boolean;
  flag_tc: boolean;
  flag_rd: boolean;
  flag_ra: boolean;
  questions: dnsPacket.Question[];
  answers: dnsPacket.Answer[];
  authorities: dnsPacket.Answer[];
  additionals: dnsPacket.Answer[];
}

export function decode(buf: Buffer): Decoded {
  const d = dnsPacket.decode(buf) as unknown as Partial<Decoded> & { id?: number };
  return {
    id: d.id ?? 0,
    rcode: d.rcode ?? '',
    flag_aa: !!d.flag_aa,
    flag_tc: !!d.flag_tc,
    flag_rd: !!d.flag_rd,
    flag_ra: !!d.flag_ra,
    questions: d.questions ?? [],
    answers: d.answers ?? [],
    authorities: d.authorities ?? [],
    additionals: d.additionals ?? [],
  };
}

/** The data of an answer record as a string (A, AAAA, CNAME, PTR, NS). */
export const dataOf = (a: dnsPacket.Answer | undefined): string => String((a as { data?: unknown } | undefined)?.data);
