import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'isPublic';

/** Opts a route out of the global bearer guard (sign-in, health, revocation with a body token). */
export const Public = () => SetMetadata(IS_PUBLIC, true);
