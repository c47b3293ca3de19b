"use client";
// The post form: a plain HTML form that works without JavaScript (a server action), and keeps what was typed when a field is refused.
import { useActionState } from "react";
import { type PostFormState, postAction } from "./actions.ts";

function FieldError({ state, field }: { state: PostFormState; field: string }) {
  if (state.error?.field !== field) return null;
  return (
    <p className="error" id={`${field}-error`} role="alert">
      {state.error.message}
    </p>
  );
}

export function PostForm({ stampCommand, bits }: { stampCommand: string; bits: number }) {
  const [state, action] = useActionState(postAction, {});
  const value = (field: string, fallback = "") => state.values?.[field] ?? fallback;
  return (
    <form className="card" action={action}>
      {state.error && state.error.field === undefined ? (
        <p className="error">{state.error.message}</p>
      ) : null}
      <label htmlFor="title">Title</label>
      <input id="title" name="title" maxLength={200} required defaultValue={value("title")} />
      <FieldError state={state} field="title" />
      <label htmlFor="description">Short description</label>
      <textarea id="description" name="description" defaultValue={value("description")} />
      <FieldError state={state} field="description" />
      <label htmlFor="onion">Your job host's onion address</label>
      <input
        id="onion"
        name="onion"
        placeholder="56 characters, then .onion"
        defaultValue={value("onion")}
      />
      <p className="hint">
        The address <code>tormr host --tor</code> printed. Its checksum is checked.
      </p>
      <FieldError state={state} field="onion" />
      <div className="row">
        <div>
          <label htmlFor="size">Workers</label>
          <input id="size" name="size" inputMode="numeric" defaultValue={value("size", "3")} />
          <FieldError state={state} field="size" />
        </div>
        <div>
          <label htmlFor="minMemoryMb">Memory per task, MiB</label>
          <input
            id="minMemoryMb"
            name="minMemoryMb"
            inputMode="numeric"
            defaultValue={value("minMemoryMb", "256")}
          />
          <FieldError state={state} field="minMemoryMb" />
        </div>
        <div>
          <label htmlFor="sandbox">Sandbox</label>
          <select id="sandbox" name="sandbox" defaultValue={value("sandbox", "any")}>
            <option value="any">any</option>
            <option value="docker">Docker</option>
            <option value="bwrap">bubblewrap</option>
          </select>
          <FieldError state={state} field="sandbox" />
        </div>
      </div>
      <div className="field-stamp">
        <label htmlFor="stamp">Stamp</label>
        <p className="hint">
          Posting costs a little work ({bits} bits), so that nobody can flood the board. Run this,
          and paste what it prints:
        </p>
        <pre>{stampCommand}</pre>
        <input id="stamp" name="stamp" autoComplete="off" defaultValue={value("stamp")} />
        <FieldError state={state} field="stamp" />
      </div>
      <div className="actions">
        <button type="submit">Post the request</button>
      </div>
    </form>
  );
}
