/*
 * `graphql-ws/client` is graphql-ws without its server half (which loads
 * `graphql`). The project resolves modules the node10 way, which does not
 * read package.json "exports", so the subpath's types are declared here as
 * the package's own.
 */
declare module 'graphql-ws/client' {
  export * from 'graphql-ws';
}
