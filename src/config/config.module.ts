import { DynamicModule, Global, Module } from '@nestjs/common';
import { ConfigModule, registerAs } from '@nestjs/config';
import { AppConfig, APP_CONFIG_NAMESPACE } from './app-config.js';
import { parseConfig } from './config.schema.js';

/**
 * Validated configuration. The environment is passed in (process.env in production, a literal in tests) so
 * several service instances can run in one test process, and nothing is written back into process.env.
 */
@Global()
@Module({})
export class AppConfigModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    const values = parseConfig(env); // throws at boot with the variable's name
    return {
      module: AppConfigModule,
      imports: [
        ConfigModule.forRoot({
          ignoreEnvFile: true,
          ignoreEnvVars: true,
          skipProcessEnv: true,
          load: [registerAs(APP_CONFIG_NAMESPACE, () => values)],
        }),
      ],
      providers: [AppConfig],
      exports: [AppConfig],
    };
  }
}
