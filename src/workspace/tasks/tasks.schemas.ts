import { z } from 'zod';
import { isoDateTime, pageToken } from '../ids.js';

/** A task list id: Google's id alphabet, or `@default`. */
export const taskListId = z.string().regex(/^(@default|[A-Za-z0-9_-]{1,256})$/, 'must be a task list id or @default');

/** Body of `POST .../tasks/lists/{listId}/tasks`. */
export const newTaskBody = z.strictObject({ title: z.string().min(1).max(1024), notes: z.string().max(8192).optional(), due: isoDateTime.optional() });
export type NewTaskBody = z.infer<typeof newTaskBody>;

/** Body of `PATCH .../tasks/lists/{listId}/tasks/{taskId}`. */
export const taskPatchBody = z
  .strictObject({ title: z.string().min(1).max(1024), notes: z.string().max(8192), due: isoDateTime, status: z.enum(['needsAction', 'completed']) })
  .partial()
  .refine((t) => Object.keys(t).length > 0, { message: 'change at least one field' });
export type TaskPatchBody = z.infer<typeof taskPatchBody>;

/** Query of the task list route. */
export const tasksQuery = z.strictObject({
  showCompleted: z.enum(['true', 'false']).default('true'),
  maxResults: z.coerce.number({ message: 'must be a number' }).int().min(1).max(100).default(100),
  pageToken: pageToken.optional(),
});
export type TasksQuery = z.infer<typeof tasksQuery>;
