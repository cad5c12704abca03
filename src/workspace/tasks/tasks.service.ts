import { Injectable } from '@nestjs/common';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { NewTaskBody, TaskPatchBody } from './tasks.schemas.js';

/** Google Tasks as the signed-in user. */
@Injectable()
export class TasksService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** The user's task lists. */
  async lists(email: string) {
    const data = await this.google.call(email, 'Tasks', 'tasksRead', async (u) => (await this.apis.tasks(u).tasklists.list()).data);
    return { taskLists: data.items ?? [] };
  }

  /** Tasks of a list. */
  async tasks(email: string, tasklist: string, showCompleted: boolean) {
    const data = await this.google.call(email, 'Tasks', 'tasksRead', async (u) => (await this.apis.tasks(u).tasks.list({ tasklist, showCompleted, showHidden: showCompleted })).data);
    return { tasks: data.items ?? [] };
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
