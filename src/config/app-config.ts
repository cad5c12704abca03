import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AppConfigValues } from './config.schema.js';

export const APP_CONFIG_NAMESPACE = 'app';

/** Typed access to the validated configuration: `config.values.s3.bucket`. */
@Injectable()
export class AppConfig {
  readonly values: AppConfigValues;

  constructor(config: ConfigService) {
    this.values = config.getOrThrow<AppConfigValues>(APP_CONFIG_NAMESPACE);
  }
}
