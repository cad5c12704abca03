/** The refresh token a refresh rotated to, or undefined when Google kept one the refresh continues. */
export function rotatedTo(refreshToken: string | undefined, continues: readonly string[]): string | undefined {
  return refreshToken && !continues.includes(refreshToken) ? refreshToken : undefined;
}
