/**
 * The check every nft script passes before it runs, in the real facility and the fake alike:
 * each top-level command must name table kube-proxy of family ip or ip6. nft itself would happily
 * flush or delete any table, so this is what keeps the proxy mode's writes inside its own table.
 */
import { KERNEL_ERR, kernelError } from '../errors.ts';
import { KUBE_PROXY_TABLE } from './interface.ts';

const COMMAND =
  /^(add|create|delete|flush|insert|replace)\s+(table|chain|rule|set|map|element)\s+(\S+)\s+(\S+)/;
const BLOCK = /^table\s+(\S+)\s+(\S+)\s*\{/;

/** The script's top-level lines (brace depth 0 at their start), with their 1-based numbers. */
function topLevelLines(script: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let depth = 0;
  let quoted = false;
  script.split('\n').forEach((raw, i) => {
    const text = raw.trim();
    if (depth === 0 && !quoted && text !== '' && !text.startsWith('#')) out.push({ line: i + 1, text });
    for (const ch of raw) {
      if (ch === '"') quoted = !quoted;
      else if (!quoted && ch === '{') depth++;
      else if (!quoted && ch === '}') depth--;
    }
  });
  return out;
}

/** Throws KDP_ERR_KERNEL_INVALID unless every command of `script` is about kube-proxy's table. */
export function assertKubeProxyScript(script: string, namespace: string): void {
  for (const { line, text } of topLevelLines(script)) {
    const m = COMMAND.exec(text) ?? BLOCK.exec(text);
    const family = m ? (m.length === 5 ? m[3] : m[1]) : undefined;
    const table = m ? (m.length === 5 ? m[4] : m[2]) : undefined;
    if ((family === 'ip' || family === 'ip6') && table === KUBE_PROXY_TABLE) continue;
    throw kernelError(
      KERNEL_ERR.invalid,
      `line ${line} ("${text.slice(0, 80)}") is not a command on table ip/ip6 ${KUBE_PROXY_TABLE}: kdp writes no other nftables table`,
      { namespace, operation: 'nft -f -' },
    );
  }
}
