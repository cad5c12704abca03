import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { AuthModule } from './auth/auth.module.js';
import { DomainExceptionFilter } from './common/domain-exception.filter.js';
import { AppConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { HomeModule } from './home/home.module.js';
import { McpModule } from './mcp/mcp.module.js';
import { OAuthModule } from './oauth/oauth.module.js';
import { ObservabilityModule } from './observability/observability.module.js';
import { StorageBootCheck } from './storage/storage-boot-check.js';
import { StorageModule } from './storage/storage.module.js';
import { WorkspaceModule } from './workspace/workspace.module.js';

/** The service: configuration from `env`, then the feature modules. */
@Module({})
export class AppModule {
  static forRoot(env: Record<string, string | undefined> = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [AppConfigModule.forRoot(env), ObservabilityModule, StorageModule, AuthModule, OAuthModule, WorkspaceModule, McpModule, HealthModule, HomeModule],
      providers: [{ provide: APP_FILTER, useClass: DomainExceptionFilter }, StorageBootCheck],
    };
  }
}
