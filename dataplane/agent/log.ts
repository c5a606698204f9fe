/** Moved to dataplane/log.ts (the one logger type); kept for imports not yet updated. */
export * from '../log.ts';
