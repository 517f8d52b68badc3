import Ajv, { ErrorObject, JSONSchemaType } from 'ajv';

import { BadRequestError } from '../group/errors';

const ajv = new Ajv({ allErrors: false, strict: true });

/**
 * A validator that returns the body typed, or throws a 400 naming the field at fault. `hints`
 * replace ajv's message for a field whose schema alternatives would make it cryptic.
 */
export function validator<T>(
  schema: JSONSchemaType<T>,
  hints: Record<string, string> = {}
): (body: unknown) => T {
  const validate = ajv.compile(schema);
  return body => {
    if (validate(body)) {
      return body;
    }
    const error = toBadRequest(validate.errors?.[0]);
    if (error.field && hints[error.field] && !error.message.startsWith('unknown field')) {
      throw new BadRequestError(`field "${error.field}" ${hints[error.field]}`, error.field);
    }
    throw error;
  };
}

function toBadRequest(error: ErrorObject | undefined): BadRequestError {
  if (!error) {
    return new BadRequestError('invalid request body');
  }
  if (error.keyword === 'additionalProperties') {
    const field = String(error.params.additionalProperty);
    return new BadRequestError(`unknown field "${field}"`, field);
  }
  if (error.keyword === 'required') {
    const field = String(error.params.missingProperty);
    return new BadRequestError(`missing field "${field}"`, field);
  }
  const field = error.instancePath.replace(/^\//, '').replace(/\//g, '.');
  return field
    ? new BadRequestError(`field "${field}" ${error.message}`, field)
    : new BadRequestError(`request body ${error.message}`);
}
