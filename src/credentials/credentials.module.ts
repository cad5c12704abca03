import { Module } from '@nestjs/common';
import { StorageModule } from '../storage/storage.module.js';
import { AccessTokenHistory } from './access-token-history.js';
import { CredentialsRepository } from './credentials.repository.js';
import { CredentialsService } from './credentials.service.js';
import { CurrentGrant } from './current-grant.js';
import { DeadGrantGrace } from './dead-grant-grace.js';
import { GoogleClientCache } from './google-client.cache.js';
import { GoogleTokenClient } from './google-token.client.js';
import { GrantRefresh } from './grant-refresh.js';
import { KnownCredentials } from './known-credentials.js';
import { RefreshedGrantWriter } from './refreshed-grant-writer.js';
import { RefreshWriteBack } from './refresh-write-back.js';
import { RevocationFence } from './revocation-fence.js';
import { RevocationMarks } from './revocation-marks.js';
import { RevocationWatermarks } from './revocation-watermarks.js';

/** Users' Google credentials: storage, refresh, revocation at Google, authenticated client cache. */
@Module({
  imports: [StorageModule],
  providers: [
    CredentialsRepository,
    CredentialsService,
    KnownCredentials,
    CurrentGrant,
    GrantRefresh,
    DeadGrantGrace,
    RefreshedGrantWriter,
    AccessTokenHistory,
    GoogleClientCache,
    GoogleTokenClient,
    RefreshWriteBack,
    RevocationMarks,
    RevocationWatermarks,
    RevocationFence,
  ],
  exports: [CredentialsService, GoogleClientCache, GoogleTokenClient, RevocationMarks, RevocationWatermarks],
})
export class CredentialsModule {}
