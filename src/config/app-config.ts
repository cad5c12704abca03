import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfigValues } from './config.schema.js';

export const APP_CONFIG_NAMESPACE = 'app';

/** Typed access to the validated configuration: `config.values.s3.bucket`. */
@Injectable()
export class AppConfig {
  readonly values: AppConfigValues;
  /** Whether cookies are set Secure (COOKIE_SECURE, `auto`: when PUBLIC_URL is https); Secure cookies get `__Host-`. */
  readonly secureCookies: boolean;

  constructor(config: ConfigService) {
    this.values = config.getOrThrow<AppConfigValues>(APP_CONFIG_NAMESPACE);
    const c = this.values.cookieSecure;
    this.secureCookies = c === 'auto' ? this.values.publicUrl.startsWith('https://') : c;
  }
}
