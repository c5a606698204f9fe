/**
 * The nftables facility the nftables proxy mode programs a node namespace through. It only ever
 * touches kube-proxy's own table (`ip kube-proxy` / `ip6 kube-proxy`): every script is checked
 * (guard.ts) before it runs, so no other table of the namespace, and no other namespace than a
 * kdp one, can be changed through it. The real one is createNftables (nftables.ts: `nft -f -`
 * inside the namespace); the stateful fake with a packet tracer is FakeNftables
 * (../testing/fake-nftables.ts).
 */

/** nftables families kdp's table lives in. */
export type NftFamily = 'ip' | 'ip6';

/** The one table name the facility may touch, in either family (upstream's). */
export const KUBE_PROXY_TABLE = 'kube-proxy';

export interface Nftables {
  /** Only namespaces starting with this are touched. */
  readonly prefix: string;
  /**
   * Runs an nft script (`add ...`, `delete ...`, `flush ...` commands, or `table ip kube-proxy
   * { ... }` blocks as `nft list` prints them) as one transaction: all of it commits, or nothing
   * does (KDP_ERR_KERNEL_REJECTED naming the blamed line). A script that names any other table is
   * refused before anything runs (KDP_ERR_KERNEL_INVALID).
   */
  apply(ns: string, script: string): Promise<void>;
  /** `nft list table <family> kube-proxy` text, or undefined when the table does not exist. */
  listTable(ns: string, family: NftFamily): Promise<string | undefined>;
  /** Deletes the table if it exists; true when it did. */
  deleteTable(ns: string, family: NftFamily): Promise<boolean>;
}
