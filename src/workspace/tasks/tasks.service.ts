import { Injectable } from '@nestjs/common';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { NewTaskBody, TaskPatchBody, TasksQuery } from './tasks.schemas.js';

/** Google Tasks as the signed-in user. */
@Injectable()
export class TasksService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** The user's task lists. */
  async lists(email: string) {
    const data = await this.google.call(email, 'Tasks', 'tasksRead', async (u) => (await this.apis.tasks(u).tasklists.list({ maxResults: 100 })).data);
    return { taskLists: data.items ?? [] };
  }

  /** A page of the tasks of a list (Google's default page of 20 would hide the rest without a word). */
  async tasks(email: string, tasklist: string, q: TasksQuery) {
    const showCompleted = q.showCompleted === 'true';
    const data = await this.google.call(email, 'Tasks', 'tasksRead', async (u) =>
      (await this.apis.tasks(u).tasks.list({ tasklist, showCompleted, showHidden: showCompleted, maxResults: q.maxResults, pageToken: q.pageToken })).data,
    );
    return { tasks: data.items ?? [], nextPageToken: data.nextPageToken ?? null };
  }

  /** Creates a task (not retried: a retry could create it twice). */
  async create(email: string, tasklist: string, body: NewTaskBody) {
    return this.google.call(email, 'Tasks', 'tasksWrite', async (u) => (await this.apis.tasks(u).tasks.insert({ tasklist, requestBody: body })).data, { idempotent: false, action: 'tasks.task.create' });
  }

  /** Changes fields of a task (completing it included). */
  async update(email: string, tasklist: string, task: string, body: TaskPatchBody) {
    return this.google.call(email, 'Tasks', 'tasksWrite', async (u) => (await this.apis.tasks(u).tasks.patch({ tasklist, task, requestBody: body })).data, { action: 'tasks.task.update', target: task });
  }

  /** Deletes a task. */
  async remove(email: string, tasklist: string, task: string): Promise<void> {
    await this.google.call(email, 'Tasks', 'tasksWrite', async (u) => (await this.apis.tasks(u).tasks.delete({ tasklist, task })).data, { action: 'tasks.task.delete', target: task });
  }
}
