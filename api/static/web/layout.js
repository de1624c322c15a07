// Every page: dates and durations in vi-VN.
import { localise } from "./format.js";

localise();
