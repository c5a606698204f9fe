/**
 * Turns what libbpf printed during a failed load into something a person reads: the failing
 * program, the verifier's last lines (the failing instruction and the reason), not the thousands of
 * lines of state before them. libbpf frames the kernel's log between "-- BEGIN PROG LOAD LOG --"
 * and "-- END PROG LOAD LOG --", after "prog 'NAME': BPF program load failed".
 */

export interface TrimmedLog {
  /** The program the verifier refused. */
  program?: string;
  /** The failing instruction as the verifier printed it ("1: (71) r0 = *(u8 *)(r1 +20)"). */
  instruction?: string;
  /** The verifier's reason, the first line after the failing instruction. */
  verdict?: string;
  /** The last `maxLines` lines of the kernel log (or of libbpf's messages when there is none). */
  text: string;
}

const BEGIN = '-- BEGIN PROG LOAD LOG --';
const END = '-- END PROG LOAD LOG --';
const INSN = /^\d+: \(([0-9a-f]{2})\) /;

export function trimVerifierLog(raw: string, maxLines = 24): TrimmedLog {
  const program = /prog '([^']+)': (?:BPF program load failed|-- BEGIN)/.exec(raw)?.[1];
  const begin = raw.indexOf(BEGIN);
  const end = raw.indexOf(END, begin);
  const body = begin >= 0 ? raw.slice(begin + BEGIN.length, end >= 0 ? end : undefined) : raw;
  const lines = body
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '' && !/^processed \d+ insns/.test(l));
  // The verifier stops at the instruction it refuses: the last instruction line, then its reason.
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (INSN.test(lines[i])) {
      at = i;
      break;
    }
  }
  const instruction = at >= 0 ? lines[at].replace(/\s+;.*$/, '') : undefined;
  const verdict = at >= 0 ? lines[at + 1] : lines.at(-1);
  return { program, instruction, verdict, text: lines.slice(-maxLines).join('\n') };
}
