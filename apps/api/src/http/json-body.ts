import { HttpStatus } from '@nestjs/common';
import express, { ErrorRequestHandler, RequestHandler } from 'express';
import { errorBody } from './error-body';

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

/**
 * The JSON body parser, with its failures answered in the contract's shape: they happen before
 * Nest routes the request, where its exception filters do not reach.
 */
export function jsonBody(maxBodyMb: number): [RequestHandler, ErrorRequestHandler] {
  const parse = express.json({ limit: `${maxBodyMb}mb` });
  const answerParseErrors: ErrorRequestHandler = (error: BodyParserError, _req, res, next) => {
    if (res.headersSent) return next(error);
    const { status, message } = describe(error, maxBodyMb);
    res.status(status).json(errorBody(status, message));
  };
  return [parse, answerParseErrors];
}

function describe(error: BodyParserError, maxBodyMb: number): { status: number; message: string } {
  switch (error.type) {
    case 'entity.too.large':
      return {
        status: HttpStatus.PAYLOAD_TOO_LARGE,
        message: `The request body is larger than ${maxBodyMb} MB (MAX_BODY_MB)`,
      };
    case 'entity.parse.failed':
      return { status: HttpStatus.BAD_REQUEST, message: 'The request body is not valid JSON' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return {
        status: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
        message: 'The request body must be JSON in UTF-8',
      };
    default:
      return {
        status: error.status && error.status >= 400 && error.status < 500 ? error.status : HttpStatus.BAD_REQUEST,
        message: 'The request body could not be read',
      };
  }
}
