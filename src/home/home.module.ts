import { Module } from '@nestjs/common';
import { HomeController } from './home.controller.js';

/** The pages for people: the front door at `/` and the assets the service's pages share. Depends on config only. */
@Module({ controllers: [HomeController] })
export class HomeModule {}
