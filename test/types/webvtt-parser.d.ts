/* The parts of webvtt-parser (the W3C validator's parser, untyped) that the tests use. */
declare module 'webvtt-parser' {
  export interface WebVTTNode {
    type: 'text' | 'timestamp' | 'object';
    value?: string | number;
    name?: string;
    children?: WebVTTNode[];
  }
  export interface WebVTTCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: { children: WebVTTNode[] };
  }
  export interface WebVTTError {
    message: string;
    line: number;
    col: number;
  }
  export class WebVTTParser {
    constructor(entities?: Record<string, string>);
    parse(input: string, mode?: 'metadata' | 'chapters'): { cues: WebVTTCue[]; errors: WebVTTError[] };
  }
}
