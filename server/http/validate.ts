import Ajv, { ErrorObject, JSONSchemaType } from 'ajv';

import { BadRequestError } from '../group/errors';

const ajv = new Ajv({ allErrors: false, strict: true });

/** A validator that returns the body typed, or throws a 400 naming the field at fault. */
export function validator<T>(schema: JSONSchemaType<T>): (body: unknown) => T {
  const validate = ajv.compile(schema);
  return body => {
    if (validate(body)) {
      return body;
    }
    throw toBadRequest(validate.errors?.[0]);
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
