import { Injectable } from '@nestjs/common';
import type { people_v1 } from '@googleapis/people';
import { GoogleApis } from '../google-apis.js';
import { GoogleCaller } from '../google-caller.js';
import type { ContactSearchQuery } from './contacts.schemas.js';

const SEARCH_FIELDS = 'names,emailAddresses,phoneNumbers,organizations';
const CONTACT_FIELDS = 'names,emailAddresses,phoneNumbers,organizations,addresses,biographies,birthdays,urls';

/** A person as callers use them: the id to fetch it by, and its values without People API metadata. */
function toContact(p: people_v1.Schema$Person) {
  const values = <T extends { value?: string | null; type?: string | null }>(list: T[] | undefined) => (list ?? []).map((v) => ({ value: v.value ?? '', type: v.type ?? null }));
  return {
    id: p.resourceName?.replace(/^people\//, '') ?? null,
    resourceName: p.resourceName ?? null,
    name: p.names?.[0]?.displayName ?? null,
    emails: values(p.emailAddresses),
    phones: values(p.phoneNumbers),
    organizations: (p.organizations ?? []).map((o) => ({ name: o.name ?? null, title: o.title ?? null })),
    ...(p.addresses ? { addresses: p.addresses.map((a) => ({ formatted: a.formattedValue ?? null, type: a.type ?? null })) } : {}),
    ...(p.biographies ? { notes: p.biographies.map((b) => b.value ?? '').join('\n') } : {}),
    ...(p.urls ? { urls: values(p.urls) } : {}),
  };
}

/** The user's Google Contacts (People API) as the signed-in user. */
@Injectable()
export class ContactsService {
  constructor(
    private readonly google: GoogleCaller,
    private readonly apis: GoogleApis,
  ) {}

  /** Contacts whose name, email or phone starts with the query. */
  async search(email: string, q: ContactSearchQuery) {
    const data = await this.google.call(email, 'People', 'contactsRead', async (u) =>
      (await this.apis.people(u).people.searchContacts({ query: q.q, pageSize: q.pageSize, readMask: SEARCH_FIELDS })).data,
    );
    return { contacts: (data.results ?? []).flatMap((r) => (r.person ? [toContact(r.person)] : [])) };
  }

  /** One contact. */
  async get(email: string, contactId: string) {
    const data = await this.google.call(email, 'People', 'contactsRead', async (u) =>
      (await this.apis.people(u).people.get({ resourceName: `people/${contactId}`, personFields: CONTACT_FIELDS })).data,
    );
    return toContact(data);
  }
}
