// s3rver ships no types; only its constructor is used (see s3-server.ts).
declare module 's3rver' {
  const S3rver: new (options: unknown) => unknown;
  export default S3rver;
}
