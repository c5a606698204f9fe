/**
 * Splits one iptables-restore line into arguments the way iptables-restore does: whitespace
 * separates, double quotes group (and may sit inside a word: a"b c"d is `ab cd`), a backslash
 * inside quotes takes the next character literally. Single quotes are ordinary characters, as
 * they are to iptables-restore (`--comment 'a b'` is two arguments there too).
 */
import { IptablesRuleError } from './rule-values.ts';

export function tokenizeRestoreLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) {
        current += line[++i];
      } else if (c === '"') {
        quoted = false;
      } else {
        current += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      inWord = true;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quoted) throw new IptablesRuleError('unterminated quote');
  if (inWord) args.push(current);
  return args;
}
