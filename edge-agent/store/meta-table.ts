/** Small named values kept next to the cache, in the same file and transactions: `meta(k, v)`. */
import type Database from 'better-sqlite3';

export class MetaTable {
  private readonly selectValue: Database.Statement<[string], string>;
  private readonly upsertValue: Database.Statement<[string, string]>;
  private readonly deleteValue: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.selectValue = db.prepare<[string], string>('SELECT v FROM meta WHERE k = ?').pluck();
    this.upsertValue = db.prepare<[string, string]>('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v');
    this.deleteValue = db.prepare<[string]>('DELETE FROM meta WHERE k = ?');
  }

  get(k: string): string | undefined {
    return this.selectValue.get(k);
  }

  set(k: string, v: string): void {
    this.upsertValue.run(k, v);
  }

  delete(k: string): void {
    this.deleteValue.run(k);
  }
}
