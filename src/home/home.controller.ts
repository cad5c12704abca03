import { Controller, Get, Header, HttpCode, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PAGE_SCRIPT, PAGE_STYLE, sendHtml } from '../common/html-page.js';
import { Public } from '../common/public.decorator.js';
import { AppConfig } from '../config/app-config.js';
import { homePage } from './home-page.js';
import { PAGE_SCRIPT_SOURCE, PAGE_STYLE_SOURCE } from './page-assets.js';

/** The front door (`/`) and the pages' script and stylesheet; for people, so not part of the API document. */
@ApiExcludeController()
@Public()
@Controller()
export class HomeController {
  private readonly page: string;

  constructor(config: AppConfig) {
    this.page = homePage(config.values.publicUrl);
  }

  /** What the service is, and "Sign in with Google". */
  @Get()
  home(@Res() reply: FastifyReply): void {
    sendHtml(reply, 200, this.page);
  }

  /**
   * No icon, said without an error: every browser asks for /favicon.ico on each page it opens, and a 404 there put
   * "Failed to load resource" in the console of every page of the service (seen walking the README in chromium).
   */
  @Get('favicon.ico')
  @HttpCode(204)
  @Header('cache-control', 'public, max-age=86400')
  favicon(): void {}

  /** The copy buttons' script. */
  @Get(PAGE_SCRIPT)
  @Header('content-type', 'text/javascript; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  script(): string {
    return PAGE_SCRIPT_SOURCE;
  }

  /** The pages' stylesheet. */
  @Get(PAGE_STYLE)
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'public, max-age=300')
  style(): string {
    return PAGE_STYLE_SOURCE;
  }
}
