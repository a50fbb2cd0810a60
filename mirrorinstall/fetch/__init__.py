"""Stage 4, fetch: move the bytes ourselves: every file of a resolved install, in byte ranges
over several connections and every healthy mirror that has the same file, verified against
its hash, resumable, kept in a content-addressed store."""
